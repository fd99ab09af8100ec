"""A64 semantics, one module per ARM ARM encoding group.  Importing this
package registers every decode pattern (translator/patterns.py TABLE)."""
from . import branch, system, dp_imm, dp_reg, loadstore, fpsimd, crypto  # noqa: F401
