"""ftigate.decide"""
