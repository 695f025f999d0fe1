"""Everything served over HTTP: the JSON API, the student pages, the scanner page and the staff console."""
