"""`ftigate serve`: the disclosure office's service (API, review queue, pages).

settings.py   one settings object (store, taxpayer file, data folder, limits)
security.py   passwords (Argon2id), session and token secrets, CSRF
roles.py      the four roles and what each may do
review.py     two-person review as pure rules (who may vote, what the votes decide)
jobs.py       the worker: processes a submitted batch outside any request, resumes
              or fails a job whose worker died, releases a reviewed batch
app.py        the FastAPI application: API routes and server-rendered pages
"""
