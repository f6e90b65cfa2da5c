-- GET with the access token in TOKEN, as a Mini Program sends it.
wrk.headers["Authentication"] = os.getenv("TOKEN")
