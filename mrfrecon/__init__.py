"""mrfrecon: Magnetic Resonance Fingerprinting reconstruction.

Layers (data flows downwards only):

- :mod:`mrfrecon.physics`    pure signal models (EPG, isochromat Bloch, closed forms)
- :mod:`mrfrecon.sequence`   MRF schedule definitions (YAML/TOML/JSON/CSV, Pulseq)
- :mod:`mrfrecon.dictionary` dictionary grid, simulation, HDF5 storage, SVD, matching
- :mod:`mrfrecon.training`, :mod:`mrfrecon.model`, :mod:`mrfrecon.engine`  learning core
- :mod:`mrfrecon.io`         NIfTI / DICOM acquisitions and maps
- :mod:`mrfrecon.cli`        the ``mrfrecon`` command line (thin, on top of the API)
"""

__version__ = "0.1.0"

__all__ = ["__version__"]
