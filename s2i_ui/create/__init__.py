"""The Create page, one module per step: record (details and narration) → sentences → pictures.

``app_pages/create.py`` picks the step from the session's ``Draft``; each step module draws one step
and moves the draft on.
"""
