"""The analyst's desk: a web page and JSON API to read, judge and mute what the monitor found.

``app`` composes the routes (``pages``, ``api``, ``links``) on the storage API; ``security``
guards every request; ``server`` runs it with uvicorn. Nothing here writes SQL or imports
telethon, and post text reaches a page only through autoescaped templates.
"""
