"""The web service that EC2 instances and ECS tasks run; see server.py."""
