"""Simulation control: drive what no client can cause (inbound calls, remote parties, outages, faults)."""
