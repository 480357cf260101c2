"""Follows: saved questions that re-answer themselves when the news changes.

    desk.py       the door for the edges: make, list, remove a follow; its notices
    records.py    follows in the shared store, with their question vectors
    selection.py  which follows a write could affect (reverse search + named things)
    substance.py  what an answer says, and what counts as a change
    notices.py    notices: claimed once across replicas, the outbox, the audit trail
    delivery.py   delivering notices: retries with backoff, orphans taken over
    webhooks.py   signed webhook POSTs behind the internal-address guard
    follower.py   each replica's loop over the change feed: select, re-answer, notify
    running.py    the follower and deliveries on their threads, built from Settings
"""
