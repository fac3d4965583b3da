"""Python client of the Oblique integrations service (gRPC, package `oblique.v1`).

    from oblique_client import connect
    from oblique_client.v1 import integration_pb2

    with connect("http://127.0.0.1:50051", token) as oblique:
        types = oblique.integrations.ListIntegrationTypes(integration_pb2.ListIntegrationTypesRequest())
"""

from oblique_client.client import REQUEST_ID, Clients, connect

__all__ = ["REQUEST_ID", "Clients", "connect"]
