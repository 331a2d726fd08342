/** Metering: estimates, reservations, settlement, charges and refunds (SPEC C5, C6). */
import { TallyError } from '../../domain/results.ts';
import {
  chargeAnswer,
  estimateAnswer,
  pageAnswer,
  refundAnswer,
  reservationAnswer,
} from '../../schema/answers.ts';
import {
  chargeInput,
  estimateInput,
  refundInput,
  releaseInput,
  reserveInput,
  settleInput,
} from '../../schema/commands.ts';
import { parseInput } from '../../schema/parse.ts';
import { refundChargeCommand } from '../../service/commands/refunds.ts';
import { chargeCommand, releaseCommand, reserveCommand, settleCommand } from '../../service/commands/runs.ts';

import { checkedInput, objectBody, pageQuery, type RouteDefinition, without } from './route.ts';

export const runsRoutes: RouteDefinition[] = [
  {
    method: 'get',
    path: '/v1/accounts/{id}/reservations',
    summary: "An account's reservations, newest first",
    tag: 'runs',
    access: 'read',
    customer: true,
    query: pageQuery,
    answer: pageAnswer(reservationAnswer),
    handle: ({ tally, params, query, ownAccount }) => {
      ownAccount(params.id);
      return tally.listReservations(params.id!, parseInput(pageQuery, query));
    },
  },
  {
    method: 'post',
    path: '/v1/estimates',
    summary:
      'Price a run before it happens: min, expected and max credits, whether it is affordable, what blocks it',
    tag: 'runs',
    access: 'read',
    customer: true,
    body: estimateInput,
    answer: estimateAnswer,
    handle: ({ tally, body, options, ownAccount, member_scope }) => {
      const request = checkedInput(estimateInput, body);
      ownAccount(request.account);
      // A team member's token estimates as that member: their own limits apply.
      return tally.estimate({ ...request, member: member_scope ?? request.member }, options);
    },
  },
  {
    method: 'post',
    path: '/v1/reservations',
    summary: 'Hold credits for a run before it starts',
    tag: 'runs',
    access: 'write',
    customer: false,
    body: reserveInput,
    idempotent: true,
    answer: reservationAnswer,
    handle: ({ tally, body, options }) => tally.run(reserveCommand, body, options),
  },
  {
    method: 'get',
    path: '/v1/reservations/{id}',
    summary: 'A reservation (held, settled, released or expired)',
    tag: 'runs',
    access: 'read',
    customer: true,
    answer: reservationAnswer,
    handle: async ({ tally, params, ownAccount }) => {
      const reservation = await tally.getReservation(params.id!);
      ownAccount(reservation.account, 'reservation_not_found');
      return reservation;
    },
  },
  {
    method: 'post',
    path: '/v1/reservations/{id}/settle',
    summary: 'Charge the actual usage of a reserved run; what it did not use goes back',
    tag: 'runs',
    access: 'write',
    customer: false,
    body: without(settleInput, 'reservation'),
    idempotent: true,
    answer: chargeAnswer,
    handle: ({ tally, params, body, options }) =>
      tally.run(settleCommand, { ...objectBody(body), reservation: params.id }, options),
  },
  {
    method: 'post',
    path: '/v1/reservations/{id}/release',
    summary: 'Void a reservation: every held credit goes back',
    tag: 'runs',
    access: 'write',
    customer: false,
    body: without(releaseInput, 'reservation'),
    idempotent: true,
    answer: reservationAnswer,
    handle: ({ tally, params, body, options }) =>
      tally.run(releaseCommand, { ...objectBody(body ?? {}), reservation: params.id }, options),
  },
  {
    method: 'post',
    path: '/v1/charges',
    summary: 'Reserve and settle in one step, for a run whose cost is known',
    tag: 'runs',
    access: 'write',
    customer: false,
    body: chargeInput,
    idempotent: true,
    answer: chargeAnswer,
    handle: ({ tally, body, options }) => tally.run(chargeCommand, body, options),
  },
  {
    method: 'get',
    path: '/v1/charges/{id}',
    summary: 'A charge',
    tag: 'runs',
    access: 'read',
    customer: true,
    answer: chargeAnswer,
    handle: async ({ tally, params, ownAccount, member_scope }) => {
      const charge = await tally.getCharge(params.id!);
      ownAccount(charge.account, 'charge_not_found');
      if (member_scope !== undefined && charge.member !== member_scope)
        throw new TallyError('charge_not_found');
      return charge;
    },
  },
  {
    method: 'post',
    path: '/v1/charges/{id}/refund',
    summary: 'Refund (part of) a charge as a non-expiring bonus grant',
    tag: 'runs',
    access: 'write',
    customer: false,
    body: without(refundInput, 'charge'),
    idempotent: true,
    answer: refundAnswer,
    handle: ({ tally, params, body, options }) =>
      tally.run(refundChargeCommand, { ...objectBody(body), charge: params.id }, options),
  },
];
