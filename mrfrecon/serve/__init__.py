"""``mrfrecon serve``: a DICOM node between the scanner and the PACS.

Modules, one concept each: :mod:`.config` (TOML configuration), :mod:`.uids` (UID grammar,
hashed identifiers for logs, deterministic derived UIDs), :mod:`.spool` (durable instance
store and job folders), :mod:`.assembly` (when a series is complete), :mod:`.models` (which
model reconstructs a series), :mod:`.reconstruct` (the one adapter to the maps pipeline),
:mod:`.sender` (C-STORE with a journal), :mod:`.worker` (job queue, retries, dead letters),
:mod:`.scp` (the Storage SCP) and :mod:`.node` (all of it together).
"""
