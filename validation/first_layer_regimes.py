"""First-layer regimes at small input dimension: pattern-averaged vs mean-field limits (docs/theory/ntk.rst).

The study itself lives beside the NTK convergence study, with which it shares its finite networks.
"""

from graphon_ops.validation._common import main
from graphon_ops.validation.ntk_convergence import run_first_layer_regimes as run

__all__ = ["run"]

if __name__ == "__main__":
    main(run, __doc__.splitlines()[0])
