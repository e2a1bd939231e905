"""``decruft bench``: measure the original and the optimised Dockerfile on a real engine.

* `workspace` -- the private copy of the project, both Dockerfiles, the files to edit;
* `engine` -- builds (BuildKit via `decruft.engine`), cache pruning, push and pull, cleanup;
* `runner` -- the measurements and their order (`run_bench`);
* `imageview` -- layers, files and treemap cells from ``inspect``'s reader and analysis;
* `model` -- the results and their JSON shape (``schema.json``);
* `report` (terminal, markdown) and `html` -- the renderers.
"""

from decruft.bench.model import BenchResult, SideResult
from decruft.bench.runner import BenchOptions, Progress, run_bench

__all__ = ["BenchOptions", "BenchResult", "Progress", "SideResult", "run_bench"]
