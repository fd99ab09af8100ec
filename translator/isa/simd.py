"""AdvSIMD (placeholder)."""
