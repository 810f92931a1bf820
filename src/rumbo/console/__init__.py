"""The customer-service console: staff accounts, sign-in, search, orders and inquiries."""
