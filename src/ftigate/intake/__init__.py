"""ftigate.intake"""
