"""Gunicorn settings for wsgi_app.py (the integration test passes the
rest on the command line: bind, workers, --preload or not).

    gunicorn -c gunicorn_conf.py --preload -w 8 -b 127.0.0.1:8000 wsgi_app:app
"""
worker_class = "sync"
graceful_timeout = 5  # a stopping test waits at most this for workers
timeout = 30


def post_fork(server, worker):
    # Runs in each new worker.  Opening the table here instead of at import
    # is the other right place (see doc/python.md); wsgi_app opens it at
    # import, so with --preload the master's handle is inherited.
    import wsgi_app

    wsgi_app.worker_started()
