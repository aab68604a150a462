"""Scene coordinate regression (SACReg's cosine encoding on a per-scene head over XFeat)."""
