"""Environment variables a framework, the runtime or the platform provides: never required of a workload.

Each entry says who provides the variable. ``PORT`` is special: Kubernetes does not set it (Vercel, Cloud
Run, Heroku, Railway and Render do), so an unset ``PORT`` read without a default is a low note rather than a
high finding, and nothing when the Dockerfile or the workload sets it.
"""

from __future__ import annotations

import re

PLATFORM_ENV: dict[str, str] = {
    "NODE_ENV": "Node.js frameworks (`next start`/`next build` set it to production)",
    "NEXT_RUNTIME": "Next.js (nodejs or edge)",
    "NEXT_PHASE": "Next.js",
    "NEXT_PUBLIC_*": "Next.js build: inlined into the bundle at `next build`, not read at run time",
    "NEXT_TELEMETRY_DISABLED": "Next.js option with a default",
    "REACT_APP_*": "Create React App build: inlined at `npm run build`",
    "VITE_*": "Vite build: inlined at `vite build`", "PUBLIC_*": "SvelteKit/Astro build-time public variables",
    "EXPO_PUBLIC_*": "Expo build", "GATSBY_*": "Gatsby build",
    "VERCEL": "Vercel", "VERCEL_*": "Vercel", "CI": "CI systems", "GITHUB_*": "GitHub Actions",
    "RUNNER_*": "GitHub Actions", "RAILWAY_*": "Railway", "RENDER": "Render", "RENDER_*": "Render",
    "FLY_*": "Fly.io", "K_SERVICE": "Cloud Run", "K_REVISION": "Cloud Run", "K_CONFIGURATION": "Cloud Run",
    "AWS_LAMBDA_*": "AWS Lambda", "WEBSITE_*": "Azure App Service", "DYNO": "Heroku",
    "HOSTNAME": "the container runtime (the pod name)", "HOME": "the container runtime", "PATH": "the image",
    "PWD": "the shell", "USER": "the shell", "SHELL": "the shell", "TERM": "the terminal", "LANG": "the image",
    "LC_*": "the image", "TMPDIR": "the image", "TZ": "the image (UTC when unset)",
    "KUBERNETES_*": "Kubernetes (service discovery of the API server)",
    "*_SERVICE_HOST": "Kubernetes service links", "*_SERVICE_PORT": "Kubernetes service links",
    "*_SERVICE_PORT_*": "Kubernetes service links", "*_PORT_*_TCP*": "Kubernetes service links",
    "PYTHON*": "the Python runtime (PYTHONPATH, PYTHONUNBUFFERED...)", "UV_*": "uv", "PIP_*": "pip",
    "VIRTUAL_ENV": "the Python virtual environment", "NODE_OPTIONS": "Node.js", "NODE_EXTRA_CA_CERTS": "Node.js",
    "npm_*": "npm scripts", "NPM_CONFIG_*": "npm", "PYTEST_*": "pytest", "JEST_WORKER_ID": "Jest",
    "VITEST": "Vitest", "FORCE_COLOR": "terminal option", "NO_COLOR": "terminal option",
}
"""Variable name (``*`` matches any characters) -> what provides it."""

PLATFORM_PORT = "PORT"

_PATTERNS = [(re.compile("^" + re.escape(name).replace(r"\*", ".*") + "$"), who) for name, who in PLATFORM_ENV.items()]


def provided_by_platform(name: str) -> str | None:
    """What provides ``name`` when a framework, the runtime or the platform does; else None."""
    return next((who for pattern, who in _PATTERNS if pattern.match(name)), None)
