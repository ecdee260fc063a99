"""Who sent a request: proxy-auth user, directory file (user -> department, IP/CIDR -> user or
department). Unknown users are ``unknown`` and unknown departments ``unassigned``; a lookup
never raises.
"""

from __future__ import annotations

import ipaddress
import re
from dataclasses import dataclass
from datetime import time
from functools import lru_cache
from pathlib import Path
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

from agent import yamlload

UNKNOWN_USER = "unknown"
UNASSIGNED = "unassigned"
DEPT_RE = r"^[a-z][a-z0-9_]{0,39}$"   # department ids are metric label values
Day = Literal["mon", "tue", "wed", "thu", "fri", "sat", "sun"]
DAYS: tuple[Day, ...] = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class WorkingHours(_Strict):
    days: list[Day] = Field(default_factory=lambda: ["mon", "tue", "wed", "thu", "fri"])
    start: time = time(8, 0)
    end: time = time(17, 0)

    @model_validator(mode="after")
    def _order(self) -> WorkingHours:
        if self.end <= self.start:
            raise ValueError("end must be after start (overnight shifts: use two departments)")
        return self


class DepartmentSpec(_Strict):
    name: str
    timezone: str = "America/New_York"
    working_hours: WorkingHours = WorkingHours()

    @field_validator("timezone")
    @classmethod
    def _tz(cls, v: str) -> str:
        from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

        try:
            ZoneInfo(v)
        except (ZoneInfoNotFoundError, ValueError):
            raise ValueError(f"unknown time zone {v!r} (use an IANA name like America/New_York)") from None
        return v


class UserSpec(_Strict):
    department: str = Field(pattern=DEPT_RE)
    name: str | None = None
    groups: list[str] = Field(default_factory=list)


class NetworkSpec(_Strict):
    cidr: str
    user: str | None = None
    department: str | None = Field(None, pattern=DEPT_RE)

    @field_validator("cidr")
    @classmethod
    def _cidr(cls, v: str) -> str:
        try:
            return str(ipaddress.ip_network(v, strict=False))
        except ValueError as e:
            raise ValueError(f"not an IP network: {e}") from None

    @model_validator(mode="after")
    def _one(self) -> NetworkSpec:
        if not (self.user or self.department):
            raise ValueError("a network maps to a user or a department (or both)")
        return self


class DirectorySpec(_Strict):
    departments: dict[str, DepartmentSpec] = Field(default_factory=dict)
    users: dict[str, UserSpec] = Field(default_factory=dict)
    networks: list[NetworkSpec] = Field(default_factory=list)

    def cross_check(self) -> list[tuple[tuple[str | int, ...], str]]:
        problems: list[tuple[tuple[str | int, ...], str]] = []
        for d in self.departments:
            if not re.fullmatch(DEPT_RE, d):
                problems.append((("departments", d), f"department id {d!r} must match {DEPT_RE}"))
        known = set(self.departments)
        if not known:
            return problems
        for u, spec in self.users.items():
            if spec.department not in known:
                problems.append((("users", u, "department"), f"unknown department {spec.department!r}"))
        for i, n in enumerate(self.networks):
            if n.department and n.department not in known:
                problems.append((("networks", i, "department"), f"unknown department {n.department!r}"))
        return problems


@dataclass(frozen=True, slots=True)
class Identity:
    user: str
    department: str
    groups: frozenset[str] = frozenset()


def normalize_user(name: str | None) -> str | None:
    """'COUNTY\\JDoe' and 'JDoe' are the same person; e-mail style names are kept whole."""
    if not name:
        return None
    name = name.strip().lower()
    if "\\" in name:
        name = name.rsplit("\\", 1)[1]
    return name or None


class Directory:
    def __init__(self, spec: DirectorySpec | None = None):
        self.spec = spec or DirectorySpec()
        self.users = {normalize_user(k): v for k, v in self.spec.users.items()}
        # Most specific network first, so a /32 user mapping beats a department /16.
        self._nets = sorted(
            ((ipaddress.ip_network(n.cidr), n) for n in self.spec.networks),
            key=lambda t: t[0].prefixlen, reverse=True,
        )
        self.identify = lru_cache(maxsize=65536)(self._identify)

    @classmethod
    def load(cls, path: str | Path | None) -> Directory:
        if path is None:
            return cls()
        doc = yamlload.load_yaml(path)
        return cls(yamlload.validate(doc, DirectorySpec))

    @property
    def departments(self) -> list[str]:
        """Bounded department label values: every configured department plus 'unassigned'."""
        return [*self.spec.departments, UNASSIGNED]

    def department_spec(self, department: str) -> DepartmentSpec:
        return self.spec.departments.get(department) or DepartmentSpec(name=department)

    def schedule(self, department: str):
        """The department's working hours and time zone (defaults for unknown departments)."""
        from agent.usage import Schedule

        spec = self.department_spec(department)
        wh = spec.working_hours
        return Schedule(spec.timezone, frozenset(DAYS.index(d) for d in wh.days), wh.start, wh.end)

    def _identify(self, user: str | None, ip: str | None) -> Identity:
        user = normalize_user(user)
        net_user = net_dept = None
        addr = None
        if ip:
            try:
                addr = ipaddress.ip_address(ip.split("%", 1)[0])
                if isinstance(addr, ipaddress.IPv6Address) and addr.ipv4_mapped:
                    addr = addr.ipv4_mapped
            except ValueError:
                addr = None
        if addr is not None:
            for net, spec in self._nets:
                if addr.version == net.version and addr in net:
                    net_user = net_user or spec.user
                    net_dept = net_dept or spec.department
                    if net_user and net_dept:
                        break
        user = user or normalize_user(net_user)
        rec = self.users.get(user) if user else None
        dept = rec.department if rec else (net_dept or UNASSIGNED)
        if dept not in self.spec.departments and self.spec.departments:
            dept = UNASSIGNED
        groups = frozenset(rec.groups) if rec else frozenset()
        return Identity(user or UNKNOWN_USER, dept, groups)
