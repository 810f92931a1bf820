"""Delivery-date prediction: the pure core (reader, history, features, model, evaluation).

No database and no HTTP here: these modules work on plain :class:`OrderHistory`
records, so the importer, the CLI, the API and the at-risk job can all share them.
"""
