"""What runs beside the HTTP server: the embedded video job pool (``pool``) over the job functions
(``jobs``), and the camera supervisor (``supervisor``) with its camera workers (``cameras``) and the
one thread that stores their observations (``observation_writer``)."""
