"""ftigate.law"""
