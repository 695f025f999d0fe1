"""The staff console (``/staff``): HTML pages for teachers and admins, never part of the JSON API."""
