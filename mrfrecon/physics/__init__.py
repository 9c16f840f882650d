"""Pure MR signal models: EPG (FISP), isochromat Bloch (bSSFP), closed-form steady states.

Units: times in ms, angles in degrees at the API, off-resonance in Hz. Fingerprints are complex
with shape ``(n_atoms, n_timepoints)``, in units of M0 (equilibrium magnetisation = 1).
"""

from .bloch import bloch_isochromats
from .epg import epg_fisp
from .signal import simulate_fingerprints
from .tissue import Tissue

__all__ = ["Tissue", "bloch_isochromats", "epg_fisp", "simulate_fingerprints"]
