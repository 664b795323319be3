"""Sizes and identifiers of OpenFlow 1.3 parts as Ryu 4.34's parser reads them.

The tables :mod:`controller.southbound.ofguard` checks received messages against: which
instructions, actions and OXM fields Ryu reads at a fixed size (it raises or loops on any
other), by type or by (class, field). ``tests/unit/test_ofguard.py`` checks them against
Ryu's own tables.
"""

from __future__ import annotations

# Instructions Ryu reads at a fixed size (and steps over by that size, whatever the wire says).
INSTRUCTION_SIZES = {1: 8, 2: 24, 6: 8}  # GOTO_TABLE, WRITE_METADATA, METER
ACTION_LIST_INSTRUCTIONS = frozenset({3, 4, 5})  # WRITE_ACTIONS, APPLY_ACTIONS, CLEAR_ACTIONS
# Actions Ryu reads at a fixed size (OUTPUT 16, the others 8).
ACTION_SIZES = {0: 16, **{t: 8 for t in (11, 12, *range(15, 25), 26, 27)}}
OFPAT_SET_FIELD, OFPAT_EXPERIMENTER = 25, 0xFFFF
NX_EXPERIMENTER_ID, ONF_EXPERIMENTER_ID, NSH_EXPERIMENTER_ID = 0x2320, 0x4F4E4600, 0x5AD650

# Value sizes of the OXM fields Ryu knows (it raises on any other size), by (class, field);
# tests/unit/test_ofguard.py checks this table against Ryu's.
_OFB_SIZES = (4, 4, 8, 6, 6, 2, 2, 1, 1, 1, 1, 4, 4, 2, 2, 2, 2, 2, 2, 1, 1, 2, 4, 4, 6, 6, 16,
              16, 4, 1, 1, 16, 6, 6, 4, 1, 1, 3, 8, 2)  # fmt: skip
_NXM0_SIZES = (2, 6, 6, 2, 2, 1, 1, 4, 4, 2, 2, 2, 2, 1, 1, 2, 4, 4)
_NXM1_SIZES = {
    **{reg: 4 for reg in range(16)}, **{f: 16 for f in range(108, 115)},
    16: 8, 17: 6, 18: 6, 19: 16, 20: 16, 21: 1, 22: 1, 23: 16, 24: 6, 25: 6, 26: 1, 27: 4,
    28: 1, 29: 1, 30: 1, 31: 4, 32: 4, 33: 4, 34: 2, 36: 4, 37: 4, 38: 2, 39: 1,
    104: 2, 105: 4, 106: 2, 107: 4,
}  # fmt: skip
OXM_VALUE_SIZES: dict[tuple[int, int], int] = {
    **{(0x8000, f): n for f, n in enumerate(_OFB_SIZES)},
    **{(0x0000, f): n for f, n in enumerate(_NXM0_SIZES)},
    **{(0x0001, f): n for f, n in _NXM1_SIZES.items()},
}
OXM_CLASS_EXPERIMENTER = 0xFFFF
# Experimenter OXMs by (experimenter id, field); Ryu raises on any it does not know.
EXPERIMENTER_OXM_VALUE_SIZES: dict[tuple[int, int], int] = {
    (ONF_EXPERIMENTER_ID, 42): 2,  # tcp_flags
    (ONF_EXPERIMENTER_ID, 43): 4,  # actset_output
    (NX_EXPERIMENTER_ID, 0): 4,  # dp_hash
    **{(NSH_EXPERIMENTER_ID, f): n for f, n in enumerate((1, 1, 1, 4, 1, 4, 4, 4, 4, 1), 1)},
}
ONF_EXT256_VALUE_SIZES = {2560: 1}  # pbb_uca: ONF field 0, then a 16-bit exp_type (EXT-256)
