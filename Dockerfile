# EM Explorer for a class: the app on its runtime requirements only (requirements.txt; the
# test tools of requirements-dev.txt stay out of the image).
#
#   docker build -t em-explorer .
#   docker run --rm -p 8501:8501 em-explorer          # then open http://localhost:8501
#
# One container is one Streamlit server: one Python process, about one CPU core. For a
# bigger class run one container per core behind a load balancer with sticky sessions
# (deploy/README.md, deploy/haproxy.cfg).
FROM python:3.11-slim

ENV PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    PIP_NO_CACHE_DIR=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1 \
    EM_EXPLORER_CACHE=/home/app/.cache/em-explorer

# An unprivileged user runs the app; the code belongs to root and is read-only to it.
RUN useradd --create-home --uid 10001 --user-group app
WORKDIR /app

# Dependencies first, so that a code change does not reinstall them.
COPY requirements.txt ./
RUN pip install --no-cache-dir -r requirements.txt

# The app (what is left out is listed in .dockerignore: tests, benchmarks, .venv, …).
COPY . .

# The step player's Plotly.js: the installed plotly wheel's own copy, put into static/ now
# (the app cannot write the code's folders at run time; emui/player.py,
# server.enableStaticServing). The one folder it writes: static/emp/, where each server
# process publishes the packed half-steps of the fits it shows (at most 256 MB per process).
RUN python -c "from emui.player import ensure_plotly_js; print(ensure_plotly_js())" \
    && mkdir -p static/emp && chown app:app static/emp

USER app
# Build the derived data sets once, now, so that the first learner does not wait for them.
RUN python -c "import emdata; [emdata.load_dataset(k) for k in emdata.DATASETS]"

EXPOSE 8501
HEALTHCHECK --interval=30s --timeout=5s --start-period=30s --retries=3 \
    CMD ["python", "-c", "import urllib.request; urllib.request.urlopen('http://127.0.0.1:8501/_stcore/health', timeout=4)"]
# .streamlit/config.toml (copied above) sets the upload limit, XSRF protection and the
# theme; the flags below are what a server for learners needs on top of it: no file
# watcher and no rerun on save (nobody edits the code in the container), no usage stats.
CMD ["python", "-m", "streamlit", "run", "app.py", \
     "--server.address=0.0.0.0", "--server.port=8501", "--server.headless=true", \
     "--server.fileWatcherType=none", "--server.runOnSave=false", \
     "--browser.gatherUsageStats=false"]
