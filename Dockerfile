# stackrun: API, Celery worker, beat and migrations in one image; the command picks the role.
#   docker build -t stackrun .
#   docker run --rm stackrun --help
# Terraform comes from releases.hashicorp.com (checked against its SHA256SUMS); set
# STACKRUN_TERRAFORM_BIN=tofu and install OpenTofu instead if you prefer.

ARG PYTHON_IMAGE=python:3.12-slim

FROM ${PYTHON_IMAGE} AS terraform
ARG TERRAFORM_VERSION=1.9.8
ARG TARGETARCH=amd64
RUN apt-get update \
    && apt-get install -y --no-install-recommends ca-certificates curl unzip \
    && rm -rf /var/lib/apt/lists/*
WORKDIR /tmp/terraform
RUN set -eu; \
    base="https://releases.hashicorp.com/terraform/${TERRAFORM_VERSION}"; \
    zip="terraform_${TERRAFORM_VERSION}_linux_${TARGETARCH}.zip"; \
    curl -fsSLO "${base}/${zip}"; \
    curl -fsSLO "${base}/terraform_${TERRAFORM_VERSION}_SHA256SUMS"; \
    grep " ${zip}\$" "terraform_${TERRAFORM_VERSION}_SHA256SUMS" | sha256sum -c -; \
    unzip -q "${zip}" terraform; \
    ./terraform version

FROM ${PYTHON_IMAGE} AS build
ENV PIP_NO_CACHE_DIR=1 PIP_DISABLE_PIP_VERSION_CHECK=1
WORKDIR /src
COPY pyproject.toml README.md ./
COPY orchestrator ./orchestrator
COPY workers ./workers
RUN python -m venv /opt/stackrun \
    && /opt/stackrun/bin/pip install --upgrade pip \
    && /opt/stackrun/bin/pip install .

FROM ${PYTHON_IMAGE}
# git (and ssh for git@ clone URLs) is what GitPython drives for the repository mirrors;
# bubblewrap confines every terraform process (docs/SECURITY.md): the worker runs as the
# unprivileged user below, so bwrap uses an unprivileged user namespace (the container must
# allow it: compose.yaml and the chart set the worker's seccomp profile to allow unshare).
RUN apt-get update \
    && apt-get install -y --no-install-recommends ca-certificates git openssh-client tini \
       bubblewrap \
    && rm -rf /var/lib/apt/lists/* \
    && groupadd --system --gid 10001 stackrun \
    && useradd --system --uid 10001 --gid stackrun --home-dir /var/lib/stackrun \
       --shell /usr/sbin/nologin stackrun \
    && install -d -o stackrun -g stackrun -m 0750 /var/lib/stackrun
COPY --from=terraform /tmp/terraform/terraform /usr/local/bin/terraform
COPY --from=build /opt/stackrun /opt/stackrun
ENV PATH=/opt/stackrun/bin:$PATH \
    PYTHONUNBUFFERED=1 \
    PYTHONDONTWRITEBYTECODE=1 \
    STACKRUN_DATA_DIR=/var/lib/stackrun \
    STACKRUN_SANDBOX=bwrap \
    TF_IN_AUTOMATION=1
USER 10001:10001
WORKDIR /var/lib/stackrun
VOLUME ["/var/lib/stackrun"]
EXPOSE 8000
# tini reaps terraform/git children and forwards SIGTERM to stackrun.
ENTRYPOINT ["tini", "--", "stackrun"]
CMD ["api", "--host", "0.0.0.0", "--port", "8000"]
