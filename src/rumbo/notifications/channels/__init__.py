"""Delivery channels: each renders a :class:`~rumbo.notifications.message.Message` and
hands it to a real peer, returning a :class:`~rumbo.notifications.errors.Delivery` or
raising :class:`~rumbo.notifications.errors.TransientError` /
:class:`~rumbo.notifications.errors.PermanentError`."""
