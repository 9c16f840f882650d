"""End-to-end throughput of ``mrfrecon serve``: storescu -> serve -> Orthanc, acquisitions/min.

One run, same machine, real processes on loopback: Orthanc (Debian ``orthanc``) as the PACS,
``mrfrecon serve`` as a child process, dcmtk ``storescu`` as the scanner. The acquisition is the
``mrfrecon phantom`` series (``--size`` x ``--size`` x 1 slice, fisp_short400: 400 magnitude +
400 phase instances); each copy sent gets new study/series/instance UIDs, so each is a new job.

- warm-up: one acquisition end to end (imports, compiled kernels, cached tables), timed apart;
- measured: ``--n`` acquisitions sent back to back, as a scanner would (reception of one
  overlaps the reconstruction of the previous); throughput = n / (first send -> last map
  stored in Orthanc), and the latency of each (send start -> done record);
- baseline in the same run: ``mrfrecon.recon.run_maps`` on the same series in this process
  (read DICOM, reconstruct, write NIfTI + DICOM maps; no network), acquisitions/min.

    .venv/bin/python benchmarks/serve.py [--model MODEL.h5] [--n 5] [--size 32] [--json]

Without ``--model`` a small model is trained first (seconds; the timing does not depend on its
accuracy). storescu runs with ``TCP_NODELAY=1``: dcmtk as packaged leaves Nagle's algorithm on,
which costs ~45 ms per instance on loopback.
"""

from __future__ import annotations

import argparse
import json
import shutil
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "tests" / "serve"))

from _models import small_model  # noqa: E402
from peers import (  # noqa: E402
    free_port,
    orthanc,
    orthanc_binary,
    serve_process,
    storescu,
    wait_for,
    write_config,
)


def copies(source: Path, folder: Path, n: int) -> list[Path]:
    """``n`` copies of a DICOM series with new study, series and instance UIDs."""
    import pydicom
    from pydicom.uid import generate_uid

    files = sorted(source.glob("*.dcm"))
    out = []
    for k in range(n):
        target = folder / f"acq{k:02d}"
        target.mkdir(parents=True)
        study, series = generate_uid(), generate_uid()
        for path in files:
            ds = pydicom.dcmread(path)
            ds.StudyInstanceUID, ds.SeriesInstanceUID = study, series
            ds.SOPInstanceUID = ds.file_meta.MediaStorageSOPInstanceUID = generate_uid()
            ds.save_as(target / path.name, enforce_file_format=True)
        out.append(target)
    return out


def done_times(spool: Path) -> list[float]:
    return sorted(json.loads(p.read_text())["finished"] for p in (spool / "done").glob("*.json"))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--model", type=Path, help="model file (default: train a small one)")
    parser.add_argument("--n", type=int, default=5, help="acquisitions measured")
    parser.add_argument("--size", type=int, default=32, help="phantom matrix size")
    parser.add_argument("--json", action="store_true", help="print the result as JSON only")
    args = parser.parse_args()
    if shutil.which("storescu") is None or orthanc_binary() is None:
        sys.exit("Error: needs dcmtk (storescu) and Orthanc: apt-get install dcmtk orthanc")

    from mrfrecon.phantom import write_phantom
    from mrfrecon.recon import ReconOptions, run_maps
    from mrfrecon.sequence import load_sequence, resolve_sequence_path

    with tempfile.TemporaryDirectory(prefix="mrfrecon-bench-serve-") as tmp:
        work = Path(tmp)
        model = args.model or small_model(work)
        sequence = load_sequence(resolve_sequence_path("fisp_short400"))
        phantom = write_phantom(sequence, work / "phantom", size=args.size, dicom=True)
        acquisitions = copies(phantom.dicom, work / "send", args.n + 1)
        n_instances = len(list(acquisitions[0].glob("*.dcm")))

        # baseline: the maps pipeline in this process, no network (after one warm-up run)
        options = ReconOptions(method="quantized", n_threads=1)
        run_maps(acquisitions[0], model, work / "offline-warm", options=options, units="ms")
        t0 = time.perf_counter()
        for k in range(1, args.n + 1):
            run_maps(acquisitions[k], model, work / f"offline{k}", options=options, units="ms")
        offline_s = (time.perf_counter() - t0) / args.n

        spool, port = work / "spool", free_port()
        with orthanc(work / "orthanc") as pacs:
            config = write_config(work / "serve.toml", model=model, spool=spool, port=port,
                                  pacs_port=pacs.dicom_port, settle_s=0.5)
            with serve_process(config, work / "serve.log", port):
                t_warm = time.time()
                storescu(port, acquisitions[0])
                wait_for(lambda: len(done_times(spool)) >= 1, 600, "the warm-up acquisition")
                warm_s = done_times(spool)[0] - t_warm
                starts = []
                t_start = time.time()
                for folder in acquisitions[1:]:
                    starts.append(time.time())
                    storescu(port, folder)
                t_sent = time.time()
                wait_for(lambda: len(done_times(spool)) >= args.n + 1, 600, "all acquisitions")
                finished = done_times(spool)[1:]
            n_series = len(pacs.series())
        dead = list((spool / "dead").iterdir())

    total_s = finished[-1] - t_start
    result = {
        "acquisitions": args.n, "instances_per_acquisition": n_instances,
        "matrix": f"{args.size}x{args.size}x1x{sequence.n_timepoints}",
        "acquisitions_per_min": round(60 * args.n / total_s, 2),
        "offline_run_maps_acquisitions_per_min": round(60 / offline_s, 2),
        "ratio_end_to_end_vs_offline": round((60 * args.n / total_s) / (60 / offline_s), 3),
        "reception_instances_per_s": round(args.n * n_instances / (t_sent - t_start), 1),
        "latency_s": [round(f - s, 2) for f, s in zip(finished, starts, strict=True)],
        "warm_up_s": round(warm_s, 2), "series_in_orthanc": n_series, "dead_letters": len(dead),
    }
    if args.json:
        print(json.dumps(result, indent=1))
        return
    print(f"storescu -> mrfrecon serve -> Orthanc, {args.n} acquisitions of {result['matrix']} "
          f"({n_instances} instances each), loopback:")
    print(f"  end to end        {result['acquisitions_per_min']:8.2f} acquisitions/min "
          f"(reception {result['reception_instances_per_s']} instances/s)")
    print(f"  offline run_maps  {result['offline_run_maps_acquisitions_per_min']:8.2f} "
          f"acquisitions/min (same series, this process, no network)")
    print(f"  ratio             {result['ratio_end_to_end_vs_offline']:8.3f}")
    print(f"  latency per acquisition (s): {result['latency_s']}; warm-up {warm_s:.1f} s")
    print(f"  series in Orthanc: {n_series} (expected {3 * (args.n + 1)}); dead letters: "
          f"{len(dead)}")


if __name__ == "__main__":
    main()
