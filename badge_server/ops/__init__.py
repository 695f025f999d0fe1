"""Operations: the ``badge-server`` command line, serving, backups and the demo district."""
