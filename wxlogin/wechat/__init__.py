"""WeChat behind one client: its API, its errors, the app's access token, and the simulator."""
