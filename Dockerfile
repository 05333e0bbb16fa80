# syntax=docker/dockerfile:1.7
# ragdesk image: the chat (default command), the ingestion worker and `ragdesk model pull`.
# CPU target (default) runs on any x86-64 CPU: llama.cpp is built with GGML_NATIVE=OFF.
# GPU target: `docker compose --profile gpu up` (CUDA build, all layers on the GPU).

ARG PYTHON_IMAGE=python:3.11-slim-bookworm
ARG CUDA_DEVEL=nvidia/cuda:12.6.3-devel-ubuntu24.04
ARG CUDA_RUNTIME=nvidia/cuda:12.6.3-runtime-ubuntu24.04

# ---- source: what both builds install, listed once ----
FROM scratch AS source
COPY pyproject.toml constraints.txt README.md /src/
COPY rag_core /src/rag_core
COPY ingest /src/ingest
COPY app /src/app

# ---- build (CPU): compile llama-cpp-python portably, install everything into /venv ----
FROM ${PYTHON_IMAGE} AS build
RUN apt-get update && apt-get install -y --no-install-recommends build-essential cmake \
    && rm -rf /var/lib/apt/lists/*
WORKDIR /src
# llama-server (continuous batching, `ragdesk serve-model`) from the same llama.cpp sources
# (the script reads the llama-cpp-python pin; a code change does not rebuild it)
COPY pyproject.toml ./
COPY scripts/build-llama-server.sh scripts/
RUN install -m 0755 "$(GGML_NATIVE=OFF scripts/build-llama-server.sh)" /opt/llama-server
COPY --from=source /src ./
ENV CMAKE_ARGS="-DGGML_NATIVE=OFF -DGGML_BLAS=OFF" \
    PIP_NO_CACHE_DIR=1
RUN python -m venv /venv \
    && /venv/bin/pip install --index-url https://download.pytorch.org/whl/cpu torch==2.13.0 \
    && /venv/bin/pip install -c constraints.txt .

# ---- runtime (CPU) ----
FROM ${PYTHON_IMAGE} AS runtime
RUN apt-get update && apt-get install -y --no-install-recommends libgomp1 tini \
    && rm -rf /var/lib/apt/lists/* \
    && useradd --create-home --uid 10001 ragdesk \
    && mkdir -p /data /models /inbox && chown ragdesk /data /models /inbox
COPY --from=build /venv /venv
COPY --from=build /opt/llama-server /usr/local/bin/llama-server
COPY .streamlit /app/.streamlit
COPY app/streamlit_app.py /app/app/streamlit_app.py
WORKDIR /app
USER ragdesk
ENV PATH=/venv/bin:$PATH \
    RAGDESK_DATA_DIR=/data \
    RAGDESK_MODELS_PATH=/models \
    HF_HUB_DISABLE_TELEMETRY=1
EXPOSE 8501 8080 9100
HEALTHCHECK --interval=30s --timeout=5s --start-period=120s \
  CMD python -c "import urllib.request; urllib.request.urlopen('http://127.0.0.1:8501/_stcore/health', timeout=4)"
ENTRYPOINT ["tini", "--"]
CMD ["streamlit", "run", "app/streamlit_app.py", "--server.address", "0.0.0.0", "--server.port", "8501"]

# ---- build (GPU): the same, llama.cpp with CUDA ----
FROM ${CUDA_DEVEL} AS build-gpu
RUN apt-get update && apt-get install -y --no-install-recommends python3 python3-venv \
      python3-dev build-essential cmake \
    && rm -rf /var/lib/apt/lists/*
WORKDIR /src
COPY --from=source /src ./
ENV CMAKE_ARGS="-DGGML_CUDA=on -DGGML_NATIVE=OFF" \
    PIP_NO_CACHE_DIR=1
RUN python3 -m venv /venv \
    && /venv/bin/pip install --index-url https://download.pytorch.org/whl/cpu torch==2.13.0 \
    && /venv/bin/pip install -c constraints.txt .

# ---- runtime (GPU) ----
FROM ${CUDA_RUNTIME} AS runtime-gpu
RUN apt-get update && apt-get install -y --no-install-recommends python3 libgomp1 tini \
    && rm -rf /var/lib/apt/lists/* \
    && useradd --create-home --uid 10001 ragdesk \
    && mkdir -p /data /models /inbox && chown ragdesk /data /models /inbox
COPY --from=build-gpu /venv /venv
COPY .streamlit /app/.streamlit
COPY app/streamlit_app.py /app/app/streamlit_app.py
WORKDIR /app
USER ragdesk
ENV PATH=/venv/bin:$PATH \
    RAGDESK_DATA_DIR=/data \
    RAGDESK_MODELS_PATH=/models \
    RAGDESK_LLM_GPU_LAYERS=-1
EXPOSE 8501
ENTRYPOINT ["tini", "--"]
CMD ["streamlit", "run", "app/streamlit_app.py", "--server.address", "0.0.0.0", "--server.port", "8501"]
