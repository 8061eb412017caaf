"""Quality assurance of recorded calls: evaluation forms, scoring, sampling, calibration
(pure; records and the API are the edges)."""
