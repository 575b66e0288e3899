"""streetscan vision: frames -> detections -> tracks -> geo-tagged observations.

Usable alone as a library and through ``streetscan scan``; never imports ``service``.
"""
