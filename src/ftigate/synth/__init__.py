"""ftigate.synth"""
