"""What a user is and does: logging in, the profile, notes, phone number, audit trail."""
