# CPU image: installs streetscan and runs the service on its embedded default (SQLite under /data); the
# same image runs the fleet's API and workers (docker-compose.yml).
FROM python:3.11-slim-bookworm
RUN apt-get update && apt-get install -y --no-install-recommends ffmpeg libgl1 libglib2.0-0 \
    && rm -rf /var/lib/apt/lists/*
WORKDIR /app
COPY . /app
RUN pip install --no-cache-dir --extra-index-url https://download.pytorch.org/whl/cpu -e '.[scale]'
ENV YOLO_OFFLINE=1 STREETSCAN_DATA_DIR=/data
VOLUME /data
EXPOSE 8000
CMD ["streetscan", "serve", "--host", "0.0.0.0", "--port", "8000"]
