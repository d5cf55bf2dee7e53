"""The DARTS cell search space: genotypes, their encodings, stand-alone networks and the RLNAS supernet.

A cell has two inputs (states 0, 1: the outputs of the two previous cells) and four intermediate
states 2..5; state s may read any of the states 0..s-1, which gives 14 candidate edges, numbered
node-major: the edge from state k into state s has index k + Σ_{t=2}^{s-1} t (offsets 0, 2, 5, 9).
A final genotype keeps exactly two edges with one non-`none` op each per intermediate state, and
the cell output concatenates states 2..5 (methods/spaces.md §2); a pruned genotype (`nas analyze prune`)
may set some of those ops to `none`.
"""


from nascli.spaces.darts.dense import (  # noqa: F401
    DENSE_OPS,
    NODE_SIZES,
    DenseGenotype,
    dense_from_codes,
    ea_subcells,
    format_dense,
    parse_dense,
    rl_parse,
)
from nascli.spaces.darts.dense_space import (  # noqa: F401
    DenseDartsSpace,
)
from nascli.spaces.darts.encodings import (  # noqa: F401
    from_bpe_codes,
    from_nb301_config,
    from_rlnas_codes,
    from_rmi_onehot,
    to_bpe_codes,
    to_nb301_config,
    to_rlnas_codes,
    to_rmi_onehot,
)
from nascli.spaces.darts.genotype import (  # noqa: F401
    CELL_KINDS,
    CONCAT,
    DARTS_OPS_DRNAS,
    DARTS_OPS_PT,
    DARTS_OPS_RLNAS,
    EDGE_OFFSETS,
    EDGES,
    FINAL_OPS,
    NB301_PREFIX,
    NUM_EDGES,
    NUM_STATES,
    Code,
    DartsGenotype,
    Pairs,
    edge_index,
    format_genotype,
    format_nested,
    from_nested,
    genotype_from_json,
    genotype_to_json,
    parse_genotype,
    to_nested,
)
from nascli.spaces.darts.network import (  # noqa: F401
    AuxiliaryHeadCIFAR,
    AuxiliaryHeadImageNet,
    DartsCell,
    NetworkCIFAR,
    NetworkImageNet,
    build_op,
    drop_path,
)
from nascli.spaces.darts.sampler import (  # noqa: F401
    DartsRepairSampler,
    random_code,
    repair,
)
from nascli.spaces.darts.space import (  # noqa: F401
    DartsSpace,
)
from nascli.spaces.darts.supernet import (  # noqa: F401
    DartsSupernet,
    SupernetCell,
    network_state_from_supernet,
    path_codes,
    supernet_path_parameters,
)
