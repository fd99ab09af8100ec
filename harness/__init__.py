"""Test harness for emu: the oracles, fetched guest packages and regression lanes.

Owns: fetching Debian arm64 packages into a cache (fetch), building C fixtures and running a
program under qemu-aarch64, under emu and natively (oracle), the row definitions shared by the
pytest suite and the lanes (lanes), and the `python -m harness` command line.
Does not own: anything the emulator itself does; the harness only runs `python -m emu run` as a
subprocess, so it works (and reports failures cleanly) whatever state emu is in.
Uses only the standard library, so it runs before `pip install` has happened.
"""
