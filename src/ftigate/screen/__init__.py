"""ftigate.screen"""
