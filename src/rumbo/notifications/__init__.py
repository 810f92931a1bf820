"""Notifications to shoppers (e-mail, SMS) and to stores (signed webhooks).

This package holds the channels and the pure rules around them: what a message
carries (:mod:`.message`), how each channel renders and delivers it
(:mod:`.channels`), when to retry (:mod:`.backoff`) and when to hold, merge or skip
a message (:mod:`.restraint`). The outbox and the worker that drive them live
beside it; nothing here touches the database.
"""
