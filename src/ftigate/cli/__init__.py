"""ftigate.cli"""
