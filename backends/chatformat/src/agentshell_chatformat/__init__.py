"""agentshell chatformat package."""
