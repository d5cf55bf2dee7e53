"""The MobileNet (ProxylessNAS-like) search space of RLNAS: 21 choice blocks of MBConv k3/5/7 × e3/6 or identity.

Parts by name: `arch` (the 21-int encoding, text and JSON forms, the identity rule), `network` (blocks,
stand-alone network, single-path supernet), `lookup` (the per-block FLOPs/params table), `genotypes`
(published architectures), `space` (the `SearchSpace` object, registered as `mobilenet`).
"""

from nascli.spaces.mobilenet.arch import (  # noqa: F401
    ALLOWED,
    BLOCK_KEYS,
    BLOCK_SHAPES,
    IDENTITY,
    NO_IDENTITY,
    NUM_BLOCKS,
    OPS,
    STAGE_FIRST_BLOCKS,
    STAGES,
    MobileNetArch,
    allowed_choices,
    arch_from_json,
    arch_to_json,
    block_stage,
    format_arch,
    looks_like_arch_text,
    make_arch,
    op_name,
    parse_arch,
)
from nascli.spaces.mobilenet.genotypes import (  # noqa: F401
    MOBILENET_ARCHS,
    NamedMobileNetArch,
    get_mobilenet_arch,
    get_named_mobilenet_arch,
    is_mobilenet_name,
)
from nascli.spaces.mobilenet.lookup import (  # noqa: F401
    build_mobilenet_lookup,
    cached_mobilenet_lookup,
    check_mobilenet_lookup,
    cost_from_mobilenet_lookup,
)
from nascli.spaces.mobilenet.network import (  # noqa: F401
    ChoiceBlock,
    InvertedResidual,
    MobileNetNetwork,
    MobileNetSupernet,
    block_layout,
    network_state_from_supernet,
    reference_key,
    supernet_path_parameters,
)
from nascli.spaces.mobilenet.space import MobileNetSpace  # noqa: F401
