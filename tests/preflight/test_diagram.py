"""--diagram: the graph drawn from a recording (clusters, nodes, edges) and its rendering with AWS icons."""

from __future__ import annotations

import xml.etree.ElementTree as ET
from pathlib import Path

import pytest

from preflight.diagram import DiagramError, build_graph, render
from preflight.recorder import Recording, run_program
from preflight.stackfiles import read_stack_files

FOREIGN = Path(__file__).resolve().parents[1] / "fixtures" / "foreign"


@pytest.fixture(scope="module")
def dev_graph(dev_stack):
    return build_graph(dev_stack)


@pytest.fixture(scope="module")
def foreign_stack() -> Recording:
    files = read_stack_files(FOREIGN, "shop")
    return run_program(FOREIGN, files.project, "shop", files.config, files.secret_keys, files.main)


def labels(graph, prefix: str) -> list[str]:
    return sorted(c.label for c in graph.clusters if c.label.startswith(prefix))


def cluster_label(graph, node_name: str) -> str:
    cluster = graph.node(node_name).cluster
    return next(c.label for c in graph.clusters if c.id == cluster)


def test_the_vpc_holds_one_cluster_per_az_and_each_az_its_subnets(dev_graph):
    assert labels(dev_graph, "VPC") == ["VPC network-vpc 10.10.0.0/16"]
    assert labels(dev_graph, "AZ") == ["AZ us-east-1a", "AZ us-east-1b"]
    subnets = [c for c in dev_graph.clusters if c.label.startswith("subnet")]
    assert len(subnets) == 4
    az_labels = {c.id: c.label for c in dev_graph.clusters}
    assert {az_labels[s.parent] for s in subnets} == {"AZ us-east-1a", "AZ us-east-1b"}


def test_the_server_and_its_nat_gateway_sit_in_their_subnet(dev_graph):
    assert cluster_label(dev_graph, "server-instance").startswith("subnet network-public-a")
    assert cluster_label(dev_graph, "network-nat-a").startswith("subnet network-public-a")


def test_what_spans_subnets_sits_in_the_vpc(dev_graph):
    for name in ("lb-alb", "fleet-asg", "web-service"):
        assert cluster_label(dev_graph, name).startswith("VPC"), name


def test_the_load_balancer_routes_to_the_fleet_and_the_service(dev_graph):
    assert dev_graph.linked("lb-alb", "fleet-asg")
    assert dev_graph.linked("lb-alb", "web-service")
    assert not dev_graph.linked("fleet-asg", "web-service")


def test_the_server_has_its_volume_and_the_restored_copy_comes_from_its_snapshot(dev_graph):
    assert dev_graph.linked("server-instance", "server-data")
    assert dev_graph.linked("server-data-snapshot", "server-data")
    assert dev_graph.linked("server-data-snapshot", "server-restored-data")
    assert cluster_label(dev_graph, "server-restored-data") == "AZ us-east-1b"


def test_the_function_is_behind_its_api(dev_graph):
    assert dev_graph.linked("function-api", "function-function")
    edge = next(e for e in dev_graph.edges if {e.source, e.target} == {
        dev_graph.node("function-api").urn, dev_graph.node("function-function").urn})
    assert edge.source == dev_graph.node("function-api").urn  # traffic flows from the API to the function


def test_the_kms_key_is_linked_to_what_it_encrypts(dev_graph):
    for name in ("server-data", "server-restored-data", "fleet-asg", "function-function"):
        assert dev_graph.linked(name, "stack-key"), name


def test_resources_of_another_region_are_drawn_in_that_regions_cluster(prod_stack):
    graph = build_graph(prod_stack)
    assert cluster_label(graph, "server-dr-snapshot") == "region eu-central-1"
    assert cluster_label(graph, "server-dr-key") == "region eu-central-1"
    assert graph.linked("server-dr-snapshot", "server-data-snapshot")


def test_a_foreign_program_is_drawn_from_its_recording_alone(foreign_stack):
    graph = build_graph(foreign_stack)
    assert labels(graph, "AZ") == ["AZ eu-west-1a", "AZ eu-west-1b"]
    assert {n.kind for n in graph.nodes} == {"instance", "volume", "KMS key", "load balancer", "NAT gateway",
                                             "function", "API"}
    assert graph.linked("shop-lb", "shop-server")  # through the target group and its attachment
    assert graph.linked("shop-server", "shop-data")
    assert graph.linked("shop-data", "shop-key")
    assert graph.linked("shop-api", "shop-fn")
    assert len(graph.edges) == 4


def test_the_svg_is_valid_carries_the_labels_and_embeds_its_icons(foreign_stack, tmp_path: Path):
    graph = build_graph(foreign_stack)
    path = render(graph, tmp_path / "shop.svg", "foreign-shop (shop)")
    root = ET.parse(path).getroot()
    assert root.tag.endswith("svg")
    text = " ".join(t.text or "" for t in root.iter() if t.tag.endswith("text"))
    for label in ("shop-server", "shop-data", "shop-lb", "shop-fn", "AZ eu-west-1a", "foreign-shop (shop)"):
        assert label in text
    images = [element for element in root.iter() if element.tag.endswith("image")]
    assert len(images) >= len(graph.nodes)  # plus a blank one holding each empty subnet open
    assert all(next(v for k, v in i.attrib.items() if k.endswith("href")).startswith("data:image/png;base64,")
               for i in images)


def test_a_png_is_drawn_when_asked_for(foreign_stack, tmp_path: Path):
    path = render(build_graph(foreign_stack), tmp_path / "shop.png")
    assert path.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


def test_an_unsupported_file_type_is_refused_with_what_is_allowed(foreign_stack, tmp_path: Path):
    with pytest.raises(DiagramError, match=r"unsupported file type '\.pdf'; allowed: \.svg, \.png"):
        render(build_graph(foreign_stack), tmp_path / "shop.pdf")
