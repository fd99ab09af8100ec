"""PIE load address: fixed at 0x5500000000 by default (as qemu-user places it, so outputs
compare), random per run with `emu run --aslr` / EMU_ASLR=1 (Linux's randomized
ELF_ET_DYN_BASE).  The fixed address is checked
against qemu-aarch64 running the same binary."""
from harness import oracle

SOURCE = b"""#include <stdio.h>
int main(void) { printf("%p\\n", (void *)main); return 0; }
"""


def _binary(tmp_path):
    src = tmp_path / "pie_main.c"
    src.write_bytes(SOURCE)
    return oracle.compile_c(src, "aarch64-dynamic", extra_flags=["-fPIE", "-pie"])


def test_pie_base_fixed_like_qemu_and_random_with_aslr(tmp_path, qemu, aarch64_cc):
    exe = _binary(tmp_path)
    root = "/usr/aarch64-linux-gnu"
    ref = oracle.run_qemu([exe], rootfs=root, cwd=tmp_path)
    fixed = [oracle.run_emu([exe], rootfs=root, cwd=tmp_path) for _ in range(2)]
    assert ref.status == 0 and ref.stdout.startswith(b"0x55")
    assert all(r.status == 0 and r.stdout == ref.stdout for r in fixed), [r.describe() for r in fixed]
    rnd = [oracle.run_emu([exe], rootfs=root, cwd=tmp_path, extra_args=["--aslr"]) for _ in range(3)]
    addrs = {r.stdout for r in rnd}
    assert all(r.status == 0 for r in rnd), [r.describe() for r in rnd]
    assert len(addrs) >= 2, f"three --aslr runs gave {addrs}"
    low = int(ref.stdout, 16) & 0xFFFF                       # same offset inside the image
    assert all(int(a, 16) & 0xFFFF == low and 0x55_0000_0000 <= int(a, 16) < 0x57_0000_0000
               for a in addrs), addrs
