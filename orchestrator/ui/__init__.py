"""The web UI's own parts below the routes: sessions, what each page shows, the DAG's layout,
ANSI colours and the live streams. The routes that serve them are in `api/pages`."""
