"""Which files the distribution holds; its metadata is in pyproject.toml.

Besides the ``vision`` and ``service`` packages, the folders the project ships at the top of the
repository, ``models/`` (weights, model card, taxonomy, tracker YAML) and ``samples/`` (hotspot
catalog, example tracks), are installed inside the ``vision`` package as ``vision/shipped/``, where
``vision.defaults`` finds them in an installed copy.
"""

from setuptools import find_packages, setup

SHIPPED = {
    "vision.shipped.models": "models",
    "vision.shipped.samples": "samples",
    "vision.shipped.samples.tracks": "samples/tracks",
}

setup(
    packages=[*find_packages(include=["vision", "vision.*", "service", "service.*"]), *SHIPPED],
    package_dir=SHIPPED,
    package_data={
        "service": [
            "templates/*.html",
            "web/templates/*.html",
            "web/static/*",
            "web/static/vendor/*/*",
            "web/static/vendor/*/images/*",
            "reports/templates/*.html",
            "reports/*.css",
            "migrations/*",
            "migrations/versions/*",
            "alembic.ini",
        ],
        **{package: ["*"] for package in SHIPPED},
    },
)
