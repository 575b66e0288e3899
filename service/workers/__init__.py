"""The camera supervisor: every enabled camera read in its own worker, one shared detector, one writer."""

from service.streams.supervisor import Supervisor

__all__ = ["Supervisor"]
