"""Users: the custom user model, sign-up, profile and the welcome e-mail."""
